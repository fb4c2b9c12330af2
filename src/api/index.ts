export { createApiApp, type ApiSource } from './app.js'
export { startHttpServer, type HttpServer } from './server.js'
export { HttpListenError } from './errors.js'
