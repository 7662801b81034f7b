/**
 * The flood detector's site-wide series, in the daemon's own registry:
 * - callscreen_flood_holds_total{signal}: automatic holds written, by signal (rate, did-sweep,
 *   neighbours, neighbour-spoofing);
 * - callscreen_flood_tracked_keys: callers and prefixes the detector is counting now (bounded).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FloodDetector, FloodHold } from '../services/flood-detector.js';

export function floodMetrics(registry: Registry, detector: () => FloodDetector | null): (hold: FloodHold) => void {
  const holds = new Counter({
    name: 'callscreen_flood_holds_total',
    help: 'Automatic flood holds written, by signal',
    labelNames: ['signal'],
    registers: [registry],
  });
  new Gauge({
    name: 'callscreen_flood_tracked_keys',
    help: 'Callers and prefixes the flood detector is counting now',
    registers: [registry],
    collect() {
      const d = detector();
      this.set(d ? d.stats().tracked : 0);
    },
  });
  return (hold) => holds.inc({ signal: hold.signal });
}
