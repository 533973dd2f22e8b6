// The buildspec as one raw string for the CodeBuild project (`${file(resources/buildspec.cjs)}`):
// Serverless would parse a .yml include into an object, but CodeBuild's BuildSpec must be the text.
// A line `{{@<file>}}` of buildspec.yml is filled here with that bundle (dist/, made by
// `npm run build`), gzip-compressed and base64-encoded, indented like the line: the build's AWS calls
// ship inside the buildspec of a NO_SOURCE project, which has nothing else to read them from.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { gzipSync } = require('node:zlib');

const root = join(__dirname, '..');

/** The buildspec text with every bundle line filled. */
function buildspec(read = (path) => readFileSync(join(root, path))) {
  const text = read('buildspec/buildspec.yml').toString('utf8');
  return text.replace(/^( *)\{\{@([\w./-]+)\}\}$/gm, (_line, indent, path) => {
    if (!existsSync(join(root, path))) throw new Error(`${path} is missing: run npm run build first`);
    const encoded = gzipSync(read(path), { level: 9 }).toString('base64');
    return encoded
      .match(/.{1,76}/g)
      .map((chunk) => indent + chunk)
      .join('\n');
  });
}

module.exports = () => buildspec();
module.exports.buildspec = buildspec;
