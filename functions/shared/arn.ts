/** The account id an ARN names (`arn:<partition>:<service>:<region>:<account>:...`), or '' when it has none. */
export function accountOfArn(arn: string): string {
  return arn.split(':')[4] ?? '';
}
