/** the action's post step as @github/local-action runs one (`--post`): a module whose run() is the step */
export { post as run } from '../../src/entry/action-post.js'
