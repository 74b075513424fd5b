import { hostname } from 'node:os';
import { busConfig, connectBus } from '@berth/bus';
import { env, runService } from '@berth/runtime';

await runService({
  component: 'route-publisher',
  config: { healthPort: env.port('BERTH_HEALTH_PORT', 9103), ...busConfig },
  async start({ config, logger, readiness, registry }) {
    const bus = await connectBus(config, { name: `route-publisher-${hostname()}`, logger, readiness, registry });
    return [() => bus.close()];
  },
});
