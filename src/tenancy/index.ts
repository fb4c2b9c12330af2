export { TOPIC_PREFIX, DEFAULT_TENANT, topicFor, parseTopic, isValidTenantId } from './namespace.js'
