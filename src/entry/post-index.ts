import './quiet-sdk-warning.js'
import { post } from './action-post.js'

/* istanbul ignore next */
void post()
