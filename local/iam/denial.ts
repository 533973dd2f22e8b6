/**
 * A denied request answered as the service would answer it, so the SDK raises the error it raises in
 * AWS: `AccessDeniedException` (JSON protocols, Lambda), `AccessDenied` (S3, SQS, STS),
 * `AuthorizationError` (SNS), each with AWS's message naming the action and the resource.
 */
import type { ServerResponse } from 'node:http';
import type { Denial } from './authorizer.ts';
import { type ApiRequest, signingService } from './request.ts';

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Answers a denied request in its service's error shape. */
export function sendDenial(req: ApiRequest, res: ServerResponse, denial: Denial): void {
  const requestId = crypto.randomUUID();
  const message = denial.message;
  const target = String(req.headers['x-amz-target'] ?? '');
  const service = signingService(req) ?? denial.action.split(':')[0];
  if (target) {
    const body = JSON.stringify({ __type: 'AccessDeniedException', message, Message: message });
    send(
      res,
      400,
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'AccessDeniedException',
        'x-amzn-query-error': 'AccessDenied;Sender',
        'x-amzn-requestid': requestId,
      },
      body,
    );
    return;
  }
  if (service === 'lambda') {
    const headers = { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' };
    send(res, 403, headers, JSON.stringify({ Type: 'User', Message: message }));
    return;
  }
  if (service === 's3') {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${xmlEscape(message)}</Message><RequestId>${requestId}</RequestId></Error>`;
    send(
      res,
      403,
      { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      req.method === 'HEAD' ? '' : body,
    );
    return;
  }
  const code = service === 'sns' ? 'AuthorizationError' : 'AccessDenied';
  const body = `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  send(res, 403, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body);
}
