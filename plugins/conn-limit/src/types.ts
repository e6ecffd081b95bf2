/** The top-level `connLimit` key. */
export interface ConnLimitConfig {
  /** Connections open at once across every frontend of this gateway; 0 = unlimited. */
  maxconn: number;
  /** How long a connection above `maxconn` waits (unread) for a slot before it is closed; 0 = as long as it takes. */
  maxconnWait: number;
}

export interface RateSpec {
  limit: number;
  period: number;
}

/** A frontend's `connLimits`. */
export interface FrontendConnLimits {
  rate?: RateSpec;
  ratePerClient?: RateSpec;
  maxconnPerClient: number;
  maxRequestsPerClient: number;
}
