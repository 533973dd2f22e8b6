// The buildspec as one raw string for the CodeBuild project (`${file(resources/buildspec.cjs)}`):
// Serverless would parse a .yml include into an object, but CodeBuild's BuildSpec must be the text.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = () => readFileSync(join(__dirname, '..', 'buildspec', 'buildspec.yml'), 'utf8');
