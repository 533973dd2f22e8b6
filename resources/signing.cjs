// ECR managed signing (`signingProfileArn`, docs/supply-chain.md), computed at packaging
// (`${file(resources/signing.cjs):<name>}`): the statements that let a pusher sign with the profile.
// ECR signs a push with the pusher's identity, which needs signer:SignPayload on the profile (ECR
// user guide, "Managed signing", prerequisites). A value that is not a signing profile ARN fails the
// packaging; without one, no statement reaches the template (no placeholder ARN to lint).

/** An AWS Signer signing profile ARN, as the registry-settings function checks it too. */
const PROFILE_ARN = /^arn:aws[a-z-]*:signer:[a-z0-9-]+:\d{12}:\/signing-profiles\/[A-Za-z0-9_]{2,64}$/;

const signWith = (profile, sid) =>
  profile === ''
    ? { 'Fn::If': ['Signs', { Ref: 'AWS::NoValue' }, { Ref: 'AWS::NoValue' }] }
    : {
        'Fn::If': [
          'Signs',
          { Sid: sid, Effect: 'Allow', Action: 'signer:SignPayload', Resource: profile },
          { Ref: 'AWS::NoValue' },
        ],
      };

module.exports = async ({ resolveVariable }) => {
  const profile = String((await resolveVariable('param:signingProfileArn')) ?? '').trim();
  if (profile !== '' && !PROFILE_ARN.test(profile))
    throw new Error(
      `signingProfileArn "${profile}" is not an AWS Signer signing profile ARN ` +
        '(arn:aws:signer:<region>:<account>:/signing-profiles/<name>)',
    );
  return {
    // The build session pushes the image (buildspec/session/policy.ts narrows it to this build).
    buildSign: signWith(profile, 'SignPushedImages'),
    // The release function pushes the index that joins a multi-platform image's legs.
    releaseSign: signWith(profile, 'SignJoinedImages'),
  };
};
