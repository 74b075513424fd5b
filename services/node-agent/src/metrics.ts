import { Counter, Gauge, type Registry } from 'prom-client';

export type NodeAgentMetrics = ReturnType<typeof nodeAgentMetrics>;

export function nodeAgentMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ['protocol', 'interface'] as const;
  return {
    requestsReceived: new Counter({
      name: 'berth_node_agent_requests_received_total',
      help: 'ARP requests and Neighbor Solicitations received for VIPs this node answers',
      labelNames,
      registers,
    }),
    responsesSent: new Counter({
      name: 'berth_node_agent_responses_sent_total',
      help: 'ARP replies and Neighbor Advertisements sent in answer',
      labelNames,
      registers,
    }),
    gratuitousSent: new Counter({
      name: 'berth_node_agent_gratuitous_sent_total',
      help: 'Gratuitous ARP and unsolicited Neighbor Advertisements sent on taking a VIP over',
      labelNames,
      registers,
    }),
    claimsSeen: new Counter({
      name: 'berth_node_agent_foreign_claims_total',
      help: 'Announcements by another host of a VIP this node answered for (it then steps back)',
      labelNames,
      registers,
    }),
    sendFailures: new Counter({
      name: 'berth_node_agent_send_failures_total',
      help: 'Packets the kernel refused to send',
      labelNames,
      registers,
    }),
    vipsOwned: new Gauge({ name: 'berth_node_agent_vips_owned', help: 'VIPs this node answers for', registers }),
    vipsUnowned: new Gauge({
      name: 'berth_node_agent_vips_unowned',
      help: 'Layer-2 VIPs that no node may answer for (no eligible node), as this agent elects owners',
      registers,
    }),
    ownershipChanges: new Counter({
      name: 'berth_node_agent_ownership_changes_total',
      help: 'VIPs this node took over (gained) or stopped answering for (lost)',
      labelNames: ['change'],
      registers,
    }),
    heartbeats: new Counter({
      name: 'berth_node_agent_heartbeats_sent_total',
      help: 'Heartbeats sent live (core NATS) and stored (their bucket), by outcome',
      labelNames: ['channel', 'result'],
      registers,
    }),
    busCurrent: new Gauge({
      name: 'berth_node_agent_view_current',
      help: 'Whether this agent sees its own heartbeats come back from the bus (1), or acts on a frozen view (0)',
      registers,
    }),
  };
}
