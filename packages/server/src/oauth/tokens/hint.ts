// RFC 7662 §2.1, RFC 7009 §2.1: `token_type_hint` is only a hint. We look the token up as the hinted
// kind first and then as the other kind, so a wrong hint never changes the answer. A hint we do not
// know is treated as absent (RFC 7009 §2.1: the server MAY ignore it); we never answer
// unsupported_token_type, because we can introspect and revoke both kinds of token we issue.

export type TokenKind = 'access_token' | 'refresh_token';

/** The order in which to try the two kinds. Without a usable hint, the access token comes first:
 * checking a JWT signature needs no database round trip. */
export function lookupOrder(hint: string | undefined): readonly [TokenKind, TokenKind] {
  return hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
}
