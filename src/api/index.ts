export { createApiApp, type ApiSource, type ApiOptions } from './app.js'
export { hostAllowed } from './guard.js'
export { bindHttpServer, type HttpServer } from './server.js'
export { HttpListenError } from './errors.js'
