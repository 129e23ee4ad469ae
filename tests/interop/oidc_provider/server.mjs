// panva's oidc-provider as an authorization server on 127.0.0.1, for bearerguard's interop tests.
//
//   node server.mjs PORT
//
// Issues RFC 9068 JWT access tokens (ES256, typ at+jwt) to a client-credentials client for
// two resources (resource indicators, RFC 8707), DPoP-bound ones (RFC 9449) when the token
// request carries a DPoP proof, opaque tokens for a third resource, and answers token
// introspection (RFC 7662) of those opaque tokens for a confidential resource-server client
// (oidc-provider introspects no JWT access token: "unsupported_token_type"). Signing keys are made at start-up. When it listens it
// prints one JSON line describing itself (see SETTINGS) and serves until stopped.
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
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify(SETTINGS)}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
