// Values of the private-networking parameters that CloudFormation cannot compute itself
// (`${file(resources/network.cjs):<name>}`): it has no "map over a list", and Fn::Join takes no
// intrinsic as its delimiter, so the subnet ARNs of the IAM conditions are written out here, at
// packaging, from the comma-separated IDs. It also refuses, at packaging, the combinations of the
// parameters that cannot work (CloudFormation Rules would, but Serverless does not pass them on).

/** The comma-separated IDs of a parameter, trimmed, empty entries dropped. */
const ids = (value) =>
  String(value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

const subnetArn = (id) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:subnet/${id}`,
});

/** The parameters' combinations that cannot work, each with what to set; empty when they can. */
function problems({ vpcId, subnets, functionsInVpc, vpcEndpoints, routeTables, uploadsOnlyFromVpcEndpoint }) {
  const found = [];
  if (vpcId && subnets.length === 0)
    found.push('vpcId is set: buildSubnetIds must name the private subnets of the build (comma-separated)');
  if (!vpcId && subnets.length > 0) found.push('buildSubnetIds is set: vpcId must name their VPC');
  if (functionsInVpc && !vpcId) found.push('functionsInVpc=true needs vpcId and buildSubnetIds');
  if (vpcEndpoints && !vpcId) found.push('vpcEndpoints=true needs vpcId and buildSubnetIds');
  if (vpcEndpoints && routeTables.length === 0)
    found.push(
      'vpcEndpoints=true needs routeTableIds (the route tables of buildSubnetIds) for the S3 endpoint',
    );
  if (uploadsOnlyFromVpcEndpoint && !vpcEndpoints)
    found.push(
      "uploadsOnlyFromVpcEndpoint=true needs vpcEndpoints=true: uploads come through the stack's S3 endpoint",
    );
  return found;
}

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => String((await resolveVariable(`param:${name}`)) ?? '').trim();
  const subnets = ids(await param('buildSubnetIds'));
  const functionsInVpc = (await param('functionsInVpc')) === 'true';
  const found = problems({
    vpcId: await param('vpcId'),
    subnets,
    functionsInVpc,
    vpcEndpoints: (await param('vpcEndpoints')) === 'true',
    routeTables: ids(await param('routeTableIds')),
    uploadsOnlyFromVpcEndpoint: (await param('uploadsOnlyFromVpcEndpoint')) === 'true',
  });
  if (found.length > 0) throw new Error(`private networking parameters: ${found.join('; ')}`);
  const buildGroups = ids(await param('buildSecurityGroupIds'));
  const stateWriters = await resolveVariable('self:custom.pipeline.stateWriterRoles');
  const vpcId = await param('vpcId');
  return {
    // Off, the resources that name the VPC are left out (Conditions), but cfn-lint checks them all:
    // a well-formed ID that names no VPC keeps it quiet.
    vpcId: vpcId || 'vpc-00000000',
    // The lists of IDs, trimmed (Fn::Split would keep the spaces after the commas).
    subnetIds: subnets,
    routeTableIds: ids(await param('routeTableIds')),
    // The build's groups: the stack's (which the endpoints admit) and buildSecurityGroupIds.
    buildSecurityGroupIds: [{ 'Fn::GetAtt': ['BuildSecurityGroup', 'GroupId'] }, ...buildGroups],
    // The subnets' ARNs (ec2:Subnet conditions, CreateNetworkInterface resources); a placeholder
    // when there are none, for the statements that the InVpc condition leaves out anyway.
    subnetArns: subnets.length > 0 ? subnets.map(subnetArn) : [subnetArn('none')],
    // What the functions' roles may create network interfaces with: their subnets and their group.
    functionNetworkResources: [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
      { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*' },
      {
        'Fn::Sub':
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
          'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${FunctionSecurityGroup.GroupId}',
      },
      ...(subnets.length > 0 ? subnets.map(subnetArn) : [subnetArn('none')]),
    ],
    // When uploadsOnlyFromVpcEndpoint denies a PutObject: not through the stack's S3 endpoint, and
    // (functions outside the VPC) not by the functions' roles, which write the upload records.
    uploadDenyCondition: {
      StringNotEquals: { 'aws:SourceVpce': { Ref: 'S3GatewayEndpoint' } },
      ...(functionsInVpc
        ? {}
        : {
            // The roles that write the pipeline's state (serverless.yml, custom.pipeline.stateWriterRoles).
            ArnNotEquals: { 'aws:PrincipalArn': stateWriters },
          }),
    },
    // The functions' `vpc:` (false: not in a VPC). Their group is the stack's, which the endpoints admit.
    functionsVpc: functionsInVpc
      ? {
          subnetIds: subnets,
          // Under its resource's condition, which holds here, for cfn-lint's sake (W1001).
          securityGroupIds: [
            {
              'Fn::If': [
                'FunctionsInVpc',
                { 'Fn::GetAtt': ['FunctionSecurityGroup', 'GroupId'] },
                { Ref: 'AWS::NoValue' },
              ],
            },
          ],
        }
      : false,
  };
};
