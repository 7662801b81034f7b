/**
 * What a component (FastAGI server, AMI client, ESL, admin HTTP…) may report about itself through
 * `Component.health()`: read by /readyz and the `callscreen_component_up` metric.
 */
export interface ComponentHealth {
  /** true when serving / connected. */
  readonly ok: boolean;
  /** A word for humans and logs: listening, connected, reconnecting, stopped… */
  readonly state: string;
  /** false: shown but does not make the daemon unready (default true). */
  readonly required?: boolean;
  /** Small extra facts (counters, last error); never secrets. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ComponentHealthReport extends ComponentHealth {
  readonly component: string;
}
