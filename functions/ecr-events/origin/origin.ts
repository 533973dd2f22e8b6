/**
 * Where an event may come from. The rules that invoke this function listen in its own account and
 * region, and only AWS (or, for Build Rejected, the build-trigger role on the stack's own bus) puts
 * events there; yet a payload can also arrive by `ecr-pipeline replay` from a failure queue, or by a
 * direct invocation. So before acting, the function checks what the payload says of its origin against
 * what the function knows of itself: the same account and region, and for a build, this stack's
 * CodeBuild project in the build's ARN. CodeBuild itself is asked about the build (verify-build.ts).
 */

/** What the function knows of itself. */
export interface Origin {
  account: string;
  region: string;
}

/**
 * Why an EventBridge event is not from this function's account and region; undefined when it is.
 * `ECR Replication Action` is put on the destination's bus (its `account` and `region` name the
 * replica's home), so its origin is the pushed image's: `detail.source-account` and `source-region`.
 */
export function foreignOrigin(event: Record<string, unknown>, self: Origin): string | undefined {
  const detail = event.detail;
  const replication =
    event.source === 'aws.ecr' &&
    event['detail-type'] === 'ECR Replication Action' &&
    typeof detail === 'object' &&
    detail !== null;
  const { account, region } = replication
    ? {
        account: (detail as Record<string, unknown>)['source-account'],
        region: (detail as Record<string, unknown>)['source-region'],
      }
    : event;
  if (account !== self.account) {
    return `event from account ${describe(account)}, not this function's (${self.account})`;
  }
  if (region !== self.region) {
    return `event from region ${describe(region)}, not this function's (${self.region})`;
  }
  return undefined;
}

/** Why a build ARN (`arn:<partition>:codebuild:<region>:<account>:build/<project>:<id>`) is not one of this project's. */
export function foreignBuild(buildArn: string, self: Origin & { project: string }): string | undefined {
  const match = /^arn:aws[a-z-]*:codebuild:([^:]*):([^:]*):build\/([^:]+):[^:/]+$/.exec(buildArn);
  if (!match) return `build id ${describe(buildArn)} is not a CodeBuild build ARN`;
  const [, region, account, project] = match;
  if (project !== self.project || account !== self.account || region !== self.region) {
    return `build ${buildArn} is not of this stack's project ${self.project} in ${self.account} / ${self.region}`;
  }
  return undefined;
}

/** A value of an untrusted payload, quoted and cut short for a log line. */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : 'none';
}
