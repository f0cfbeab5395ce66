// A real OpenID provider (the OpenID Certified `oidc-provider` package) for Greenlight's
// single sign-on tests, with static clients, users that carry a `groups` claim, and a minimal
// login form in place of the package's development pages.
//
//   node provider.mjs --config CONFIG.json [--host 127.0.0.1] [--port 0] [--exit-on-stdin-close]
//   node provider.mjs --config-json '{...}' ...
//
// It listens on a free port (or --port), then prints one JSON line on standard output,
// {"issuer": "http://127.0.0.1:PORT"}, and logs nothing else there. With
// --exit-on-stdin-close it stops when its standard input closes, so a test that dies never
// leaves it running. The configuration, in a file or given inline:
//
//   {
//     "clients": [{"client_id": "greenlight", "client_secret": "...",
//                  "redirect_uris": ["http://127.0.0.1:8080/sso/callback"]}],
//     "users": [{"login": "ana", "password": "...", "sub": "ana-0001",
//                "email": "ana@studio.example", "email_verified": true, "name": "Ana",
//                "groups": ["greenlight-reviewers"]}],
//     "id_token_claims": true
//   }
//
// "id_token_claims": true puts every granted claim in the ID token; false (the package's
// default behaviour) keeps the ID token minimal and serves the claims from the userinfo
// endpoint only. The login form is at /interaction/UID: a POST of `login` and `password` to
// its `action` signs in; consent is granted without a page (the clients are first-party).

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

// Standard output carries only the line with the issuer; the package's notices (it logs with
// console.log) go to standard error.
console.log = console.error;
console.info = console.error;

function usage(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.stderr.write('usage: node provider.mjs (--config CONFIG.json | --config-json JSON) [--host H] [--port N] [--exit-on-stdin-close]\n');
  process.exit(2);
}

const args = { host: '127.0.0.1', port: 0, config: undefined, configJson: undefined, exitOnStdinClose: false };
for (let i = 2; i < process.argv.length; i += 1) {
  const arg = process.argv[i];
  if (arg === '--config') args.config = process.argv[++i];
  else if (arg === '--config-json') args.configJson = process.argv[++i];
  else if (arg === '--host') args.host = process.argv[++i];
  else if (arg === '--port') args.port = Number.parseInt(process.argv[++i], 10);
  else if (arg === '--exit-on-stdin-close') args.exitOnStdinClose = true;
  else usage(`unknown argument ${arg}`);
}
if (!args.config === !args.configJson) usage('give one of --config and --config-json');
if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) usage('--port must be 0-65535');

const configName = args.config ?? '--config-json';
let config;
try {
  config = JSON.parse(args.configJson ?? readFileSync(args.config, 'utf8'));
} catch (err) {
  usage(`cannot read ${configName}: ${err.message}`);
}
const clients = config.clients ?? [];
const users = config.users ?? [];
if (clients.length === 0) usage(`${configName}: clients: at least one client is needed`);
users.forEach((u, i) => {
  for (const field of ['login', 'password', 'sub']) {
    if (typeof u[field] !== 'string' || u[field] === '') usage(`${configName}: users[${i}].${field} is required`);
  }
});

const usersBySub = new Map(users.map((u) => [u.sub, u]));

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId, error) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in to ${escapeHtml(clientId)}</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Login <input name="login" id="login" required autofocus></label>
  <label>Password <input name="password" id="password" type="password" required></label>
  <button type="submit" id="submit">Sign in</button>
</form>
</body>
</html>`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

let provider;
let callback;

async function interaction(req, res) {
  const path = new URL(req.url, 'http://provider.invalid').pathname;
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (prompt.name !== 'login') {
    // Consent is granted in loadExistingGrant; any other prompt is not expected here.
    send(res, 400, `<p>unexpected prompt ${escapeHtml(prompt.name)}</p>`);
    return;
  }
  if (req.method === 'GET' && path === `/interaction/${uid}`) {
    send(res, 200, loginPage(uid, params.client_id));
    return;
  }
  if (req.method === 'POST' && path === `/interaction/${uid}/login`) {
    const form = await readForm(req);
    const user = users.find((u) => u.login === form.get('login'));
    if (!user || !sameSecret(user.password, form.get('password') ?? '')) {
      send(res, 200, loginPage(uid, params.client_id, 'Unknown login or wrong password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 404, '<p>not found</p>');
}

const server = http.createServer((req, res) => {
  const handle = req.url.startsWith('/interaction/') ? interaction(req, res) : callback(req, res);
  Promise.resolve(handle).catch((err) => {
    process.stderr.write(`provider.mjs: ${req.method} ${req.url}: ${err.stack ?? err}\n`);
    if (!res.headersSent) send(res, 500, `<p>${escapeHtml(err.message)}</p>`);
    else res.end();
  });
});

server.listen(args.port, args.host, () => {
  const { port } = server.address();
  const host = args.host.includes(':') ? `[${args.host}]` : args.host;
  const issuer = `http://${host}:${port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

  provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [signingKey] },
    // Cookies do not keep ports apart: names of their own keep the provider's cookies from
    // meeting those of a Greenlight server on the same host.
    cookies: {
      names: { session: 'oidc_session', interaction: 'oidc_interaction', resume: 'oidc_interaction_resume' },
      keys: [randomBytes(32).toString('base64url')],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    conformIdTokenClaims: config.id_token_claims === false,
    features: { devInteractions: { enabled: false } },
    // Every client must send a PKCE challenge, so a client that forgets it fails the test.
    pkce: { required: () => true },
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
    async findAccount(ctx, sub) {
      const user = usersBySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          const claims = { sub };
          for (const field of ['email', 'email_verified', 'name', 'groups']) {
            if (user[field] !== undefined) claims[field] = user[field];
          }
          return claims;
        },
      };
    },
    // The clients are first-party: grant what they ask for without a consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  callback = provider.callback();
  provider.on('server_error', (ctx, err) => process.stderr.write(`provider.mjs: server_error: ${err.stack ?? err}\n`));

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`provider.mjs: cannot listen on ${args.host}:${args.port}: ${err.message}\n`);
  process.exit(1);
});

if (args.exitOnStdinClose) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
