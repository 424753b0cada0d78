/** The CI entries' view of the one redaction (src/report/redact.ts). */
export { SecretRedactor, redactorFor } from '../report/redact.js'
