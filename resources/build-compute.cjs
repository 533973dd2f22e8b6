// How a build starts (`buildCompute`, docs/build-speed.md), computed at packaging
// (`${file(resources/build-compute.cjs):<name>}`):
// - on-demand: CodeBuild provisions a fresh machine per build; the layer cache is the BuildKit
//   registry cache in ECR;
// - docker-server: the project's Docker server (Environment.DockerServer), a persistent Docker
//   server in the VPC whose builder keeps its layers between builds;
// - fleet: reserved capacity (AWS::CodeBuild::Fleet), one fleet per architecture of
//   fleetArchitectures with fleetBaseCapacity machines kept warm and ON_DEMAND overflow.
// A combination that cannot work fails the packaging, with a message that names the parameter.

const TIERS = ['on-demand', 'docker-server', 'fleet'];
const ARCHITECTURES = { x86_64: 'LINUX_CONTAINER', arm64: 'ARM_CONTAINER' };

/** The comma-separated values of a parameter, trimmed, empty entries dropped. */
const values = (value) =>
  String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** The project's architecture: the one its environment type runs. */
const architectureOf = (environmentType) => (environmentType.startsWith('ARM') ? 'arm64' : 'x86_64');

/** The parameters' combinations that cannot work, each with what to set; empty when they can. */
function problems({ tier, vpcId, subnets, environmentType, architectures, baseCapacity }) {
  const found = [];
  if (!TIERS.includes(tier)) found.push(`buildCompute must be one of ${TIERS.join(', ')}, got "${tier}"`);
  if (tier === 'docker-server' && (!vpcId || subnets.length === 0))
    found.push(
      'buildCompute=docker-server needs vpcId and buildSubnetIds: the Docker server runs in the VPC of the build',
    );
  if (tier === 'fleet') {
    const unknown = architectures.filter((a) => !(a in ARCHITECTURES));
    if (unknown.length > 0)
      found.push(`fleetArchitectures: unknown architecture ${unknown.join(', ')} (use x86_64, arm64)`);
    if (!architectures.includes(architectureOf(environmentType)))
      found.push(
        `fleetArchitectures must include ${architectureOf(environmentType)}, the architecture of buildEnvironmentType ${environmentType}`,
      );
    if (!/^[1-9][0-9]*$/.test(baseCapacity))
      found.push(`fleetBaseCapacity must be a whole number of machines, at least 1, got "${baseCapacity}"`);
  }
  return found;
}

/** The fleet of one architecture (its logical ID). */
const fleetId = (architecture) => (architecture === 'arm64' ? 'BuildFleetArm64' : 'BuildFleetX86');
const fleetCondition = (architecture) => (architecture === 'arm64' ? 'HasFleetArm64' : 'HasFleetX86');

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => String((await resolveVariable(`param:${name}`)) ?? '').trim();
  const tier = await param('buildCompute');
  const environmentType = await param('buildEnvironmentType');
  const architectures = values(await param('fleetArchitectures'));
  const found = problems({
    tier,
    vpcId: await param('vpcId'),
    subnets: values(await param('buildSubnetIds')),
    environmentType,
    architectures,
    baseCapacity: await param('fleetBaseCapacity'),
  });
  if (found.length > 0) throw new Error(`build compute parameters: ${found.join('; ')}`);
  const fleet = tier === 'fleet';
  return {
    tier,
    // A number (a --param value is a string).
    fleetBaseCapacity: fleet ? Number(await param('fleetBaseCapacity')) : 1,
    // "true"/"false" per fleet, for the Conditions of resources/build-compute.yml.
    fleetX86: String(fleet && architectures.includes('x86_64')),
    fleetArm64: String(fleet && architectures.includes('arm64')),
    // Environment.Fleet: the project's own architecture's fleet (a build of the other one names its
    // fleet in StartBuild's fleetOverride).
    // Under the fleet's condition, which holds here, for cfn-lint's sake (W1001).
    projectFleet: fleet
      ? {
          'Fn::If': [
            fleetCondition(architectureOf(environmentType)),
            { FleetArn: { 'Fn::GetAtt': [fleetId(architectureOf(environmentType)), 'Arn'] } },
            { Ref: 'AWS::NoValue' },
          ],
        }
      : { Ref: 'AWS::NoValue' },
    // Environment.DockerServer: its group admits the build's on the Docker server's port.
    dockerServer:
      tier === 'docker-server'
        ? {
            ComputeType: await param('dockerServerComputeType'),
            SecurityGroupIds: [
              {
                'Fn::If': [
                  'UsesDockerServer',
                  { 'Fn::GetAtt': ['DockerServerSecurityGroup', 'GroupId'] },
                  { Ref: 'AWS::NoValue' },
                ],
              },
            ],
          }
        : { Ref: 'AWS::NoValue' },
  };
};
