import { describe, expect, it } from 'vitest';
import { HIDDEN_LINE, privateKeyLines, redactLines, redactText } from '../../../functions/shared/redact.ts';

const redactLine = async (line: string) => (await redactLines([line]))[0];

/** A private key body as a build might print it: 64 base64 characters a line. */
const KEY_BODY = `MIIEpAIBAAKCAQEA${'Qk9HVVNLRVlGT1JURVNUSU5HUFVSUE9TRVNPTkxZ'.repeat(20)}`.match(
  /.{1,64}/g,
) as string[];

describe('redaction of texts that reach people and records', () => {
  it('keeps masked values masked and hides lines that look like they carry a credential', async () => {
    const lines = [
      'docker login -u AWS -p *** 1234.dkr.ecr',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG',
      'export aws_session_token="FQoGZXIvYXdzE"',
      'curl -H "Authorization: Basic dXNlcjpwYXNz"',
      'Proxy-Authorization: Bearer abc',
      'password=hunter2',
      '"client_secret": "abc"',
      'key AKIAIOSFODNN7EXAMPLE found',
      'git clone https://user:ghp_abcdef@github.com/x/y',
      'token ghp_0123456789abcdefghij0123 leaked',
      'RUN make all',
    ];
    const out = await redactLines(lines);
    expect(out[0]).toBe('docker login -u AWS -p *** 1234.dkr.ecr');
    expect(out.slice(1, -1)).toEqual(Array(lines.length - 2).fill(HIDDEN_LINE));
    expect(out.at(-1)).toBe('RUN make all');
  });

  // The cases the recommended rule set alone lets through, and what it catches by itself.
  it.each([
    [
      'npm _authToken (legacy UUID token)',
      '//registry.npmjs.org/:_authToken=0123abcd-0123-4567-89ab-0123456789ab',
    ],
    [
      'npm _authToken (npm_ token)',
      '//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789',
    ],
    ['npm _auth', '_auth=dXNlcjpwYXNz'],
    ['PGPASSWORD=', 'PGPASSWORD=hunter2 psql -h db -U app'],
    ['MYSQL_PWD=', 'MYSQL_PWD=s3cr3t mysql -u root'],
    [
      'aws CLI JSON SecretAccessKey',
      '        "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",',
    ],
    [
      'aws CLI JSON SessionToken',
      '        "SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIB",',
    ],
    [
      'Slack webhook URL',
      'curl -X POST https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    ],
    ['docker "auth"', '{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNzd29yZA=="}}}'],
    ['docker "auth", spaced', '      "auth": "dXNlcjpwYXNzd29yZA=="'],
    [
      'AccountKey=',
      'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Zm9vYmFyYmF6cXV4==;EndpointSuffix=core.windows.net',
    ],
    ['sk_live_', 'charging with sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['rk_test_', 'rk_test_4eC39HqLyjWDarjtT1zdp7dc'],
    ['a database connection string', 'DATABASE_URL is postgres://admin:Sup3rS3cret@db.example.com:5432/app'],
    ['a GitHub token of the real length', 'using ghp_0123456789abcdefghijABCDEFGHIJ012345 now'],
  ])('hides %s', async (_case, line) => {
    expect(await redactLine(line)).toBe(HIDDEN_LINE);
  });

  it.each([
    'DB_PASSWORD=hunter2',
    'NPM_TOKEN=npm_abc123',
    'export TF_VAR_aws_secret_access_key=abc',
    'STRIPE_API_KEY: sk_live_abc',
    'AWS_ACCESS_KEY_ID=AKIDEXAMPLE',
    'accesskey=abc',
    'privatekey: abc',
    'bearer  abcdefgh',
    'x://user:pass@host',
    'aws_session_token = FQoG',
    'passwd: x',
    "secret':'x'",
    'token = abc',
    'api-key=abc',
    'clientsecret=abc',
    'Authorization : Basic abc',
    'id ASIAIOSFODNN7EXAMPLE',
    'gho_0123456789abcdefghij',
    'github_pat_0123456789abcdefghij',
    'glpat-0123456789abcdefghij',
    'xoxb-0123456789',
    '-----BEGIN PRIVATE KEY-----',
    '-----BEGIN EC PRIVATE KEY-----',
    'aws configure set aws_secret_access_key wJalrXUtnFEMI',
    'MYSQL_PWD = s3cr3t',
    '//registry.npmjs.org/:_authToken = npm_abc',
    '_auth = dXNlcjpwYXNz',
    '"SessionToken" : "IQoJb3JpZ2luX2Vj"',
    '"auth" : "dXNlcjpwYXNz"',
    'AccountKey = Zm9vYmFy',
    'Proxy-Authorization : Basic abc',
    'apikey=abc',
    'access_key = abc',
    'private_key: abc',
    'client.secret=abc',
    'export PGPASSWORD=hunter2',
    'env MYSQL_PWD=s3cr3t mysql',
    'aws s3 cp s3://user:pass@bucket/key .',
  ])('hides a line that looks like it carries a credential: %s', async (line) => {
    expect(await redactLine(line)).toBe(HIDDEN_LINE);
  });

  it.each([
    'mypassword=x',
    'tokens: 3',
    'secret santa',
    'authorization failed',
    'bearer abc',
    'AKIAIOSFODNN7EXAMPL',
    'https://example.com/a:b@c',
    'https://user@example.com/x',
    '-----BEGIN PUBLIC KEY-----',
    'author: someone',
    'PWD=/codebuild/output/src',
    'sk_live_short',
    '"auth": ""',
    'ecr-pipeline: no Dockerfile at Dockerfile in the context',
    'MARKET=ASIAN',
    'ghp_short',
    'github_pat_x',
    'glpat-short',
    'xoxb-1',
    'rk_live_short',
  ])('keeps a line that only mentions a key word: %s', async (line) => {
    expect(await redactLine(line)).toBe(line);
  });

  it('hides a whole private key block, and only it', async () => {
    const lines = [
      'before',
      '-----BEGIN RSA PRIVATE KEY-----',
      ...KEY_BODY,
      '-----END RSA PRIVATE KEY-----',
      'after',
    ];
    expect(await redactLines(lines)).toEqual([
      'before',
      ...Array(lines.length - 2).fill(HIDDEN_LINE),
      'after',
    ]);
  });

  it('hides the part of a private key whose BEGIN line fell outside the excerpt', async () => {
    const lines = [...KEY_BODY.slice(-3), '-----END OPENSSH PRIVATE KEY-----', 'exit 1'];
    expect(await redactLines(lines)).toEqual([...Array(4).fill(HIDDEN_LINE), 'exit 1']);
  });

  it('hides the part of a private key whose END line fell outside the excerpt', async () => {
    const lines = ['cat key.pem', '-----BEGIN PRIVATE KEY-----', ...KEY_BODY.slice(0, 3)];
    expect(await redactLines(lines)).toEqual(['cat key.pem', ...Array(4).fill(HIDDEN_LINE)]);
  });

  it('finds the lines of every private key block of a text', () => {
    const lines = [
      'a',
      '-----END EC PRIVATE KEY-----',
      'b',
      '-----BEGIN PRIVATE KEY-----',
      'c',
      '-----END PRIVATE KEY-----',
      'd',
    ];
    expect([...privateKeyLines(lines)].sort()).toEqual([0, 1, 3, 4, 5]);
    expect(privateKeyLines(['a', 'b']).size).toBe(0);
  });

  it('says in place of a hidden line that it was hidden, and why', async () => {
    expect(await redactText('ok\npassword=hunter2')).toBe(
      'ok\n*** (line hidden: it looks like it carries a credential)',
    );
  });

  it('hides a text that starts with the END line of a private key, and a key printed on one line', () => {
    expect([...privateKeyLines(['-----END RSA PRIVATE KEY-----', 'exit 1'])]).toEqual([0]);
    // A service account's JSON key: BEGIN and END on one line, the newlines escaped.
    const json = '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n",';
    expect([...privateKeyLines(['{', json, '}'])]).toEqual([1]);
  });

  it('redacts a text line by line', async () => {
    expect(await redactText('step 1\nPGPASSWORD=x psql\nstep 3')).toBe(`step 1\n${HIDDEN_LINE}\nstep 3`);
    expect(await redactText('')).toBe('');
  });
});
