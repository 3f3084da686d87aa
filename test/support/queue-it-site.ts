import {
  IConnectorContextProvider,
  KnownUser,
  QueueEventConfig,
  RequestValidationResult,
} from '@queue-it/connector-javascript';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, request as httpRequest, Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A customer's site guarded by Queue-it's own KnownUser connector
 * (@queue-it/connector-javascript), wired the way Queue-it's Node.js sample
 * wires it: every page request goes through validateRequestByIntegrationConfig
 * with the full request URL minus its queueittoken; a redirect result is a
 * 302 to the queue, a valid token sets the connector's cookie and is taken
 * out of the URL (302 to the same page without it), everything else is served.
 */

/** Queue-it's sample crypto provider: hex HMAC-SHA256 of the text, keyed with the secret. */
const sha256Hmac = (secretKey: string, text: string) => createHmac('sha256', secretKey).update(text).digest('hex');

/** The connector's context for one request: its cookies in, Set-Cookie headers out. */
export function connectorContext(absoluteUri: string, cookieHeader = '', setCookies: string[] = [], clientIp = '127.0.0.1'): IConnectorContextProvider {
  const cookies = new Map(
    cookieHeader
      .split(';')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => [c.slice(0, c.indexOf('=')), decodeURIComponent(c.slice(c.indexOf('=') + 1))] as [string, string]),
  );
  return {
    getHttpRequest: () => ({
      getUserAgent: () => 'test',
      getHeader: () => '',
      getAbsoluteUri: () => absoluteUri,
      getUserHostAddress: () => clientIp,
      getCookieValue: (name: string) => cookies.get(name),
      getRequestBodyAsString: () => '',
    }),
    getHttpResponse: () => ({
      setCookie: (name: string, value: string, domain: string, expiration: number, httpOnly: boolean, secure: boolean) => {
        const parts = [`${name}=${encodeURIComponent(value)}`, `Expires=${new Date(expiration * 1000).toUTCString()}`, 'Path=/'];
        if (domain) parts.push(`Domain=${domain}`);
        if (httpOnly) parts.push('HttpOnly');
        if (secure) parts.push('Secure');
        setCookies.push(parts.join('; '));
      },
    }),
    getCryptoProvider: () => ({ getSha256Hash: sha256Hmac }),
    getEnqueueTokenProvider: () => null,
  };
}

/**
 * An integration config as Queue-it's GO platform publishes it: queue every
 * page whose path contains /protected on `eventId`, at `queueDomain`.
 */
export function integrationConfig(eventId: string, queueDomain: string): string {
  return JSON.stringify({
    Description: 'queuegate test',
    Version: 3,
    CustomerId: 'ignored-by-the-connector',
    AccountId: 'ignored-by-the-connector',
    PublishDate: '2026-12-01T00:00:00Z',
    Integrations: [
      {
        Name: `protect-${eventId}`,
        ActionType: 'Queue',
        EventId: eventId,
        QueueDomain: queueDomain,
        QueuePathPrefix: '',
        CookieDomain: '',
        IsCookieHttpOnly: false,
        IsCookieSecure: false,
        ExtendCookieValidity: true,
        CookieValidityMinute: 20,
        LayoutName: null,
        Culture: '',
        RedirectLogic: 'AllowTParameter',
        ForcedTargetUrl: '',
        Triggers: [
          {
            LogicalOperator: 'And',
            TriggerParts: [
              { ValidatorType: 'UrlValidator', UrlPart: 'PagePath', Operator: 'Contains', ValueToCompare: '/protected', IsNegative: false, IsIgnoreCase: true },
            ],
          },
        ],
      },
    ],
  });
}

/** The connector's verdict on a queueittoken for `pageUrl`, with the same queue event config the site uses. */
export function validateToken(token: string, opts: { customerId: string; secretKey: string; eventId: string; queueDomain: string; pageUrl: string }): Promise<RequestValidationResult> {
  const config = new QueueEventConfig(opts.eventId, [], '', '', opts.queueDomain, '', true, 20, '', false, false, 3, 'test');
  return KnownUser.resolveQueueRequestByLocalConfig(opts.pageUrl, token, config, opts.customerId, opts.secretKey, connectorContext(opts.pageUrl), null);
}

/** The connector sends visitors whose token it refused to https://<queueDomain>/error/<reason>/…; null when it let them through. */
export const refusalReason = (r: RequestValidationResult): string | null =>
  r.doRedirect() ? (/\/error\/([^/]+)\//.exec(r.redirectUrl)?.[1] ?? 'queue') : null;

export interface CustomerSite {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** every request the site got: path and query as sent, and whether the connector let it through */
  visits: { url: string; served: boolean }[];
  close(): Promise<void>;
}

const removeToken = (url: string) => url.replace(/([?&])(queueittoken=[^&]*)/i, '');

export async function startCustomerSite(opts: { customerId: string; secretKey: string; integrationConfig: string }): Promise<CustomerSite> {
  const visits: CustomerSite['visits'] = [];
  let origin = '';
  const server = createServer((req, res) => {
    if (req.url === '/favicon.ico') return void res.writeHead(404).end(); // the browser's own request, not a page
    void (async () => {
      const requestUrl = origin + (req.url ?? '/');
      const token = new URL(requestUrl).searchParams.get('queueittoken');
      const withoutToken = removeToken(requestUrl);
      const setCookies: string[] = [];
      const result = await KnownUser.validateRequestByIntegrationConfig(
        withoutToken,
        token ?? '',
        opts.integrationConfig,
        opts.customerId,
        opts.secretKey,
        connectorContext(requestUrl, req.headers.cookie, setCookies),
      );
      const noCache = { 'cache-control': 'no-cache, no-store, must-revalidate, max-age=0' };
      if (result.doRedirect()) {
        visits.push({ url: req.url ?? '', served: false });
        res.writeHead(302, { ...noCache, location: result.redirectUrl, 'set-cookie': setCookies }).end();
      } else if (requestUrl !== withoutToken && result.actionType === 'Queue') {
        // Queue-it's sample: a valid token is not left in the address bar.
        visits.push({ url: req.url ?? '', served: false });
        res.writeHead(302, { ...noCache, location: withoutToken, 'set-cookie': setCookies }).end();
      } else {
        visits.push({ url: req.url ?? '', served: true });
        res.writeHead(200, { ...noCache, 'content-type': 'text/html; charset=utf-8', 'set-cookie': setCookies });
        res.end(`<!doctype html><title>Checkout</title><h1 id="shop">The protected checkout</h1><p id="queue-id">${result.queueId ?? ''}</p>`);
      }
    })().catch((err: Error) => res.writeHead(500).end(err.message));
  });
  await listen(server);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, visits, close: () => close(server) };
}

/** A plain HTTP server that records every request it gets (the target of a refused redirect). */
export async function startRecorder(): Promise<{ origin: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('recorded');
  });
  await listen(server);
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => close(server) };
}

/**
 * HTTPS in front of queuegate: the connector always sends visitors to
 * `https://<queueDomain>/…`, so the test's queue domain is this proxy
 * (a self-signed certificate from openssl; the browser is told to accept it).
 * It passes requests and answers through as they are, streams included.
 */
export async function startTlsProxy(upstream: string): Promise<{ domain: string; requests: string[]; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'qg-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], {
    stdio: 'ignore',
  });
  const requests: string[] = [];
  const target = new URL(upstream);
  const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req: IncomingMessage, res) => {
    requests.push(req.url ?? '');
    const upstreamRequest = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstreamRequest.on('error', () => res.writeHead(502).end());
    req.pipe(upstreamRequest);
  });
  rmSync(dir, { recursive: true, force: true });
  await listen(server);
  return { domain: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => close(server) };
}

const listen = (server: Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
