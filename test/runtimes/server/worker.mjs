/** workerd: the app as a module worker; its configuration comes as the `CONFIG` JSON binding. */
import { createApp } from './app.mjs'

let app
export default {
  fetch(request, env) {
    app ??= createApp(env.CONFIG)
    return app(request)
  },
}
