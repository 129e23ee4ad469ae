// A DPoP-bound access token from oidc-provider and a DPoP proof for one request, both made by
// panva's code (the `dpop` package), never by bearerguard's.
//
//   node dpop_request.mjs --token-endpoint URL --client-id ID --client-secret SECRET \
//       --resource URI --scope SCOPE --method GET --url https://api.example/orders [--alg ES256]
//
// Makes a key pair, asks the token endpoint for a token (client credentials) with a DPoP
// proof (answering a use_dpop_nonce challenge once, RFC 9449 §8), then makes a proof for
// METHOD URL bound to that token (ath). Prints one JSON line: access_token, token_type,
// proof, jwk (the proof key's public JWK), and foreign_proof: a proof for the same request
// and token by another, fresh key (not the one the token is bound to).
import { parseArgs } from 'node:util';

import * as DPoP from 'dpop';

const { values: args } = parseArgs({
  options: {
    'token-endpoint': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    resource: { type: 'string' },
    scope: { type: 'string', default: '' },
    method: { type: 'string' },
    url: { type: 'string' },
    alg: { type: 'string', default: 'ES256' },
  },
  strict: true,
});
for (const name of ['token-endpoint', 'client-id', 'client-secret', 'resource', 'method', 'url']) {
  if (!args[name]) {
    console.error(`dpop_request.mjs: --${name} is required`);
    process.exit(2);
  }
}

const keypair = await DPoP.generateKeyPair(args.alg);

async function tokenRequest(nonce) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', resource: args.resource });
  if (args.scope) body.set('scope', args.scope);
  const basic = Buffer.from(
    `${encodeURIComponent(args['client-id'])}:${encodeURIComponent(args['client-secret'])}`,
  ).toString('base64');
  return fetch(args['token-endpoint'], {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await DPoP.generateProof(keypair, args['token-endpoint'], 'POST', nonce),
    },
    body,
  });
}

let response = await tokenRequest();
if (response.status === 400 && response.headers.get('dpop-nonce')) {
  response = await tokenRequest(response.headers.get('dpop-nonce'));
}
const token = await response.json();
if (!response.ok || token.token_type !== 'DPoP') {
  console.error(`dpop_request.mjs: token endpoint answered ${response.status}: ${JSON.stringify(token)}`);
  process.exit(1);
}

const proof = await DPoP.generateProof(keypair, args.url, args.method, undefined, token.access_token);
const jwk = await crypto.subtle.exportKey('jwk', keypair.publicKey);
const foreign = await DPoP.generateKeyPair(args.alg);
const foreignProof = await DPoP.generateProof(
  foreign, args.url, args.method, undefined, token.access_token,
);
const result = {
  access_token: token.access_token,
  token_type: token.token_type,
  proof,
  jwk,
  foreign_proof: foreignProof,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
