import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';

/** How far X-Amz-Date may be from the service's clock (AWS allows the same). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
const SERVICE = 'execute-api';
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** A request exactly as it arrived: what its signature was computed over. */
export interface ReceivedRequest {
  method: string;
  /** the raw URL: path (with the base the client used) and query, as sent */
  url: string;
  /** header names in lower case (Node's) */
  headers: Record<string, string | string[] | undefined>;
  /** the raw body bytes; empty for none */
  body: Buffer;
}

/**
 * AWS Signature Version 4 for the private API (service execute-api): the
 * signature is recomputed with AWS's own signer (@smithy/signature-v4) over
 * the request as received — method, raw path, query (the signer sorts and
 * encodes it), exactly the headers the client listed as signed (host with its
 * port), SHA-256 of the raw body — for the access key the credential names,
 * and compared in constant time. Returns null when it checks out, else why not.
 */
export async function sigV4Problem(req: ReceivedRequest, keys: ReadonlyMap<string, string>, region: string, nowMs: number): Promise<string | null> {
  const auth = header(req.headers, 'authorization');
  const m = auth ? AUTH.exec(auth) : null;
  if (!m) return 'Missing Authentication Token';
  const [, accessKeyId, scopeDate, scopeRegion, service, signedList, given] = m;
  const secret = keys.get(accessKeyId);
  if (secret === undefined) return 'The security token included in the request is invalid.';
  if (scopeRegion !== region || service !== SERVICE) return `Credential should be scoped to a valid region and service ${SERVICE}.`;
  const amzDate = header(req.headers, 'x-amz-date') ?? '';
  const d = AMZ_DATE.exec(amzDate);
  if (!d || amzDate.slice(0, 8) !== scopeDate) return 'X-Amz-Date is missing or does not match the credential scope.';
  const signedAt = Date.UTC(+d[1], +d[2] - 1, +d[3], +d[4], +d[5], +d[6]);
  if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) return 'Signature expired: X-Amz-Date is more than 15 minutes from the server time.';
  const signed = signedList.split(';');
  if (!signed.includes('host')) return 'The host header must be signed.';
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = header(req.headers, name);
    if (value === undefined) return `Signed header ${name} is missing.`;
    headers[name] = value;
  }
  // A declared payload hash is what the signer would sign: it must be the body's.
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  if (headers['x-amz-content-sha256'] !== undefined && headers['x-amz-content-sha256'] !== bodyHash) {
    return 'The request body does not match x-amz-content-sha256.';
  }
  const at = req.url.indexOf('?');
  const path = at < 0 ? req.url : req.url.slice(0, at);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(at < 0 ? '' : req.url.slice(at + 1))) {
    const seen = query[k];
    query[k] = seen === undefined ? v : [seen, v].flat();
  }
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey: secret }, region, service: SERVICE, sha256: Hash.bind(null, 'sha256'), applyChecksum: false });
  const resigned = await signer.sign(
    { method: req.method, protocol: 'https:', hostname: headers.host, path, query, headers, body: req.body },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(resigned.headers.authorization))?.[1] ?? '';
  const ok = expected.length === given.length && timingSafeEqual(Buffer.from(expected), Buffer.from(given));
  return ok ? null : 'The request signature we calculated does not match the signature you provided.';
}

function header(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
