// panva's oidc-provider as an authorization server on 127.0.0.1, for bearerguard's interop tests.
//
//   node server.mjs PORT
//
// Issues RFC 9068 JWT access tokens (ES256, typ at+jwt) to a client-credentials client for
// two resources (resource indicators, RFC 8707), DPoP-bound ones (RFC 9449) when the token
// request carries a DPoP proof, opaque tokens for a third resource, and answers token
// introspection (RFC 7662) of those opaque tokens for a confidential resource-server client
// (oidc-provider introspects no JWT access token: "unsupported_token_type").
//
// A second client uses the authorization-code flow. Its user "signs in" at once, with the
// first authentication context the request asks for (acr_values; default
// urn:bearerguard:password) and, for tests of max_age, as long ago as the request's
// login_age parameter says (seconds). Access tokens from codes carry that acr and auth_time
// (RFC 9068 §2.2.1), as an authorization server configured for step-up does (RFC 9470).
//
// Signing keys are made at start-up. When it listens it prints one JSON line describing
// itself (see SETTINGS) and serves until stopped.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;

// What the tests need to know, printed once listening.
const SETTINGS = {
  issuer,
  resource: 'https://api.bearerguard.test/',
  other_resource: 'https://other.bearerguard.test/',
  opaque_resource: 'https://opaque.bearerguard.test/',
  scopes: ['api:read', 'api:write'],
  client_id: 'bearerguard-client',
  client_secret: 'bearerguard-client-secret-for-tests-only',
  introspection_client_id: 'bearerguard-resource-server',
  introspection_client_secret: 'bearerguard-resource-server-secret-for-tests-only',
  web_client_id: 'bearerguard-web',
  web_client_secret: 'bearerguard-web-secret-for-tests-only',
  redirect_uri: 'http://127.0.0.1/callback',
  acr_values: ['urn:bearerguard:password', 'urn:bearerguard:mfa'],
  account: 'alice',
};

function signingKey(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

const configuration = {
  clients: [
    {
      client_id: SETTINGS.client_id,
      client_secret: SETTINGS.client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SETTINGS.scopes.join(' '),
    },
    {
      client_id: SETTINGS.web_client_id,
      client_secret: SETTINGS.web_client_secret,
      grant_types: ['authorization_code'],
      redirect_uris: [SETTINGS.redirect_uri],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: ['openid', ...SETTINGS.scopes].join(' '),
    },
    {
      // The API itself: a confidential client that may only introspect.
      client_id: SETTINGS.introspection_client_id,
      client_secret: SETTINGS.introspection_client_secret,
      grant_types: [],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: {
    keys: [
      // RS256 for ID tokens (the OpenID Connect default), ES256 for access tokens.
      signingKey('rsa', { modulusLength: 2048 }, 'RS256', 'interop-rs256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256', 'interop-es256'),
    ],
  },
  scopes: ['openid', ...SETTINGS.scopes],
  acrValues: SETTINGS.acr_values,
  extraParams: ['login_age'],
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // RFC 9068 §2.2.1: an access token from a user's authorization says how and when they
  // authenticated; oidc-provider's JWT format leaves that to this hook.
  extraTokenClaims: (ctx, token) => {
    const code = ctx.oidc.entities.AuthorizationCode;
    if (token.kind !== 'AccessToken' || !code) return undefined;
    return { acr: code.acr, auth_time: code.authTime };
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => SETTINGS.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const info = { audience: resourceIndicator, scope: SETTINGS.scopes.join(' '), accessTokenTTL: 300 };
        if (resourceIndicator === SETTINGS.opaque_resource) {
          return { ...info, accessTokenFormat: 'opaque' };
        }
        if (![SETTINGS.resource, SETTINGS.other_resource].includes(resourceIndicator)) {
          throw new Provider.errors.InvalidTarget();
        }
        return { ...info, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
};

const provider = new Provider(issuer, configuration);

// The interactions: sign the user in as the request asks, then consent to what it asks.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/[^/]+$/.exec(ctx.path);
  if (!match || ctx.method !== 'GET') {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const acr = String(params.acr_values || SETTINGS.acr_values[0]).split(' ')[0];
    const age = Number.parseInt(params.login_age ?? '0', 10) || 0;
    const ts = Math.floor(Date.now() / 1000) - age;
    result = { login: { accountId: SETTINGS.account, acr, ts } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
});
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify(SETTINGS)}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
