export { audit, type AuditEvent } from './audit.js';
export { ADMIN_PRINCIPAL, StaticTokens, bearerToken } from './bearer.js';
export { authRequired, unsafeBindProblem } from './bind-policy.js';
export { bearerChallenge } from './challenge.js';
export { JwtVerifier, looksLikeJwt, type AuthFailure } from './jwt.js';
export { PrincipalLimiter, type Admission } from './limits.js';
export { WELL_KNOWN, metadataPaths, metadataUri, protectedResourceMetadata, resourceUri } from './metadata.js';
export { Authenticator, authMiddleware, logAuthFailure, type AuthOutcome } from './middleware.js';
export { makePrincipal, type Principal, type PrincipalLimits } from './principal.js';
