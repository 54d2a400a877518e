// A real OIDC provider (oidc-provider, certified) on loopback for mc's auth tests.
//   PORT=0 ACCESS_TTL=60 node server.js   -> prints {"issuer": "..."} once listening
// Users: alice, bob and dave (group users), carol (group mc-admins), erin (whose preferred_username
// is "alice"), frank (groups as a plain string), and any contract-<hex>; the password is "<id>-password".
// Clients: mc-service (mcd: confidential, code + PKCE, refresh rotation, device flow, revocation;
//          its web app's https callback on loopback too)
//          other-app (client credentials; its access tokens are for another audience).
import { createServer } from 'node:http';
import { parse } from 'node:querystring';
import Provider from 'oidc-provider';

const USERS = {
  alice: { groups: ['users'], email: 'alice@example.test' },
  bob: { groups: ['users'], email: 'bob@example.test' },
  carol: { groups: ['mc-admins'], email: 'carol@example.test' },
  dave: { groups: ['users'], email: 'dave@example.test' },
  // a newer account given a name someone else had: same preferred_username as alice, another subject
  erin: { groups: ['users'], email: 'erin@example.test', name: 'alice' },
  // a provider that flattens a single group to a string
  frank: { groups: 'not-mc-admins', email: 'frank@example.test' },
};
// Throw-away accounts for parallel tests: any login "contract-<hex>" exists, in group users.
const account = (id) => USERS[id] || (/^contract-[0-9a-f]+$/.test(id) ? { groups: ['users'], email: `${id}@example.test` }
  : undefined);
const accessTtl = Number(process.env.ACCESS_TTL || 60);

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'mc-service',
      client_secret: process.env.MCD_CLIENT_SECRET || 'mc-service-secret',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'other-app',
      client_secret: 'other-app-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  findAccount: async (ctx, id) => (account(id) ? {
    accountId: id,
    claims: async () => ({ sub: id, preferred_username: account(id).name || id, email: account(id).email,
      groups: account(id).groups }),
  } : undefined),
  claims: { openid: ['sub'], profile: ['preferred_username', 'groups'], email: ['email'] },
  scopes: ['openid', 'profile', 'email', 'offline_access', 'mc'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: { AccessToken: accessTtl, ClientCredentials: accessTtl, DeviceCode: 300, RefreshToken: 86400 },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client) => (client.clientId === 'other-app' ? 'urn:other' : 'urn:mc:api'),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'openid profile email offline_access mc',
        audience: client.clientId,
        accessTokenTTL: accessTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: async (ctx, token) => {
    const user = token.accountId && account(token.accountId);
    return user ? { preferred_username: user.name || token.accountId, groups: user.groups } : {};
  },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
});

// mcd's web app logs in with the same client, back to https://127.0.0.1:PORT/auth/callback (its test
// listener's port is not known in advance, as a loopback http redirect's need not be).
const redirectAllowed = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function allowWeb(value) {
  return (this.clientId === 'mc-service' && /^https:\/\/127\.0\.0\.1:\d+\/auth\/callback$/.test(value))
    || redirectAllowed.call(this, value);
};

// Minimal login and consent pages: a password is checked, unlike the library's dev pages.
const page = (body) => `<!doctype html><html><body>${body}</body></html>`;
const readBody = (req) => new Promise((resolve) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', () => resolve(parse(data)));
});
provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/(login|confirm))?$/);
  if (!m) return next();
  const uid = m[1];
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = details.prompt.name === 'login'
      ? page(`<form method="post" action="/interaction/${uid}/login"><input name="login"/><input name="password" type="password"/><button type="submit">Sign in</button></form>`)
      : page(`<form method="post" action="/interaction/${uid}/confirm"><input type="hidden" name="confirm" value="yes"/><button type="submit">Continue</button></form>`);
    return undefined;
  }
  const body = await readBody(ctx.req);
  if (m[3] === 'login') {
    if (!account(body.login) || body.password !== `${body.login}-password`) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('<p>invalid login</p>');
      return undefined;
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: body.login } },
      { mergeWithLastSubmission: false });
  }
  const { session, params } = details;
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true });
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
