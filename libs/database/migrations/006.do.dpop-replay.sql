-- DPoP proofs already seen (RFC 9449 §11.1), shared by every instance of every deployable so
-- that a proof replayed against another instance behind the load balancer is refused too.
-- A proof is kept only until it could no longer be accepted (iat + max age + skew). UNLOGGED:
-- after a crash the table starts empty, as a process-local cache would after a restart.
CREATE UNLOGGED TABLE dpop_proofs_seen (
  jti        text        PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX dpop_proofs_seen_expiry ON dpop_proofs_seen (expires_at);
