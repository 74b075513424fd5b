// Test support (not a test): `promtool test rules` cases for the chart's PrometheusRule. Each alert
// gets series that must fire it and series beside them that must not.

const SESSION_SUMMARY = 'BGP session to tor-a is down on berth-route-publisher-0';

/** A promtool unit-test file for the rules in `rulesFile`, with Berth running in `namespace`. */
export function promtoolTests(rulesFile: string, namespace: string): object {
  const ns = `namespace="${namespace}"`;
  // Two ipam replicas (and two agents) report the same values: the alerts must count them once.
  const series = [
    [`berth_ipam_pool_addresses_in_use{${ns},pool="public",family="IPv4",pod="berth-ipam-a"}`, '240x30'],
    [`berth_ipam_pool_addresses_in_use{${ns},pool="public",family="IPv4",pod="berth-ipam-b"}`, '240x30'],
    [`berth_ipam_pool_addresses{${ns},pool="public",family="IPv4",pod="berth-ipam-a"}`, '256x30'],
    [`berth_ipam_pool_addresses{${ns},pool="public",family="IPv4",pod="berth-ipam-b"}`, '256x30'],
    [`berth_ipam_pool_addresses_in_use{${ns},pool="spare",family="IPv6",pod="berth-ipam-a"}`, '1x30'],
    [`berth_ipam_pool_addresses{${ns},pool="spare",family="IPv6",pod="berth-ipam-a"}`, '256x30'],
    [`berth_route_publisher_session_up{${ns},peer="tor-a",pod="berth-route-publisher-0"}`, '0x30'],
    [`berth_route_publisher_session_up{${ns},peer="tor-b",pod="berth-route-publisher-0"}`, '1x30'],
    [`berth_node_agent_vips_unowned{${ns},pod="berth-node-agent-a"}`, '2x30'],
    [`berth_node_agent_vips_unowned{${ns},pod="berth-node-agent-b"}`, '2x30'],
    [`berth_watcher_ready{${ns},component="watcher",pod="berth-watcher-a"}`, '0x30'],
    [`berth_watcher_ready{${ns},component="watcher",pod="berth-watcher-b"}`, '1x30'],
    [`berth_ipam_ready{${ns},component="ipam",pod="berth-ipam-a"}`, '1x30'],
    [`berth_watcher_api_server_reachable{${ns},component="watcher",pod="berth-watcher-a"}`, '0x30'],
    [`berth_watcher_api_server_reachable{${ns},component="watcher",pod="berth-watcher-b"}`, '1x30'],
    [`up{${ns},job="berth-node-agent-metrics",pod="berth-node-agent-a"}`, '0x30'],
    [`up{${ns},job="berth-ipam-metrics",pod="berth-ipam-a"}`, '1x30'],
  ];
  const alert = (labels: Record<string, string>, annotations: Record<string, string>) => ({
    exp_labels: { namespace, ...labels },
    exp_annotations: annotations,
  });
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: series.map(([name, values]) => ({ series: name, values })),
        alert_rule_test: [
          // Nothing fires before its `for` has passed.
          { eval_time: '1m', alertname: 'BerthPoolNearlyFull', exp_alerts: [] },
          { eval_time: '1m', alertname: 'BerthBGPSessionDown', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'BerthPoolNearlyFull',
            exp_alerts: [
              alert(
                { severity: 'warning', pool: 'public', family: 'IPv4' },
                {
                  summary: 'IPPool public (IPv4) is 93.75% used',
                  description:
                    'New Services of this pool will get no IPv4 address (reason PoolExhausted) once it is full. Add addresses to the IPPool or release unused Services.',
                },
              ),
            ],
          },
          {
            eval_time: '20m',
            alertname: 'BerthBGPSessionDown',
            exp_alerts: [
              alert(
                { severity: 'critical', peer: 'tor-a', pod: 'berth-route-publisher-0' },
                {
                  summary: SESSION_SUMMARY,
                  description:
                    "The speaker announces nothing to this router. kubectl get bgppeers shows the session's state and last error.",
                },
              ),
            ],
          },
          {
            eval_time: '20m',
            alertname: 'BerthLayer2VIPUnowned',
            exp_alerts: [
              alert(
                { severity: 'critical' },
                {
                  summary: '2 layer-2 VIP(s) have no node to answer ARP/NDP for them',
                  description:
                    "No healthy, Ready node matches the pool's layer2.nodeSelector and interfaces (or, for externalTrafficPolicy Local, runs a ready endpoint), so these VIPs are unreachable.",
                },
              ),
            ],
          },
          {
            eval_time: '20m',
            alertname: 'BerthComponentUnready',
            exp_alerts: [
              alert(
                { severity: 'warning', component: 'watcher', pod: 'berth-watcher-a' },
                {
                  summary: 'Berth watcher berth-watcher-a is not ready',
                  description:
                    'Its /readyz names what it waits for (the bus, Redis, gobgpd or the API server). Berth fails static meanwhile: nothing is withdrawn, but nothing changes either.',
                },
              ),
            ],
          },
          { eval_time: '1m', alertname: 'BerthWatcherCutOffFromAPIServer', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'BerthWatcherCutOffFromAPIServer',
            exp_alerts: [
              alert(
                { severity: 'warning', component: 'watcher', pod: 'berth-watcher-a' },
                {
                  summary: 'Berth watcher berth-watcher-a cannot reach the API server',
                  description:
                    'It stays ready by design and acts on the last state it saw: new Services get no address and no status is written until it reaches the API server again. Its /readyz says since when and why.',
                },
              ),
            ],
          },
          {
            eval_time: '20m',
            alertname: 'BerthComponentDown',
            exp_alerts: [
              alert(
                { severity: 'warning', job: 'berth-node-agent-metrics', pod: 'berth-node-agent-a' },
                {
                  summary: "Prometheus cannot scrape Berth's berth-node-agent-metrics on berth-node-agent-a",
                  description:
                    'The process is down or its health port is unreachable; a process that cannot start reports its bad settings in its log.',
                },
              ),
            ],
          },
        ],
      },
    ],
  };
}
