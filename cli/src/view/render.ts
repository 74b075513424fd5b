import { formatDuration } from './phrases.js';
import type { PeerRow, PoolRow, ServiceRow, Status } from './status.js';

/** Columns padded to their widest cell, two spaces apart, as kubectl prints them. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...(rows.length === 0 ? [empty] : rows.map(line))].join('\n');
}

const dash = (text: string | undefined): string => (text === undefined || text === '' ? '-' : text);

function poolCells(row: PoolRow): string[] {
  return [row.pool, row.mode, dash(row.family), row.total, String(row.inUse), row.free, row.note];
}

function servedBy(row: ServiceRow): string {
  if (row.mode === 'bgp') return dash(row.nextHops.join(', '));
  if (row.mode === 'layer2' && row.owner !== undefined) {
    const protocol = row.vip?.includes(':') === true ? 'NDP' : 'ARP';
    return row.interfaces.length === 0
      ? `${row.owner} (${protocol})`
      : `${row.owner} (${protocol} on ${row.interfaces.join(', ')})`;
  }
  return '-';
}

function serviceCells(row: ServiceRow): string[] {
  return [row.service, dash(row.vip), dash(row.pool), dash(row.mode), servedBy(row), row.note];
}

function peerCells(row: PeerRow): string[] {
  return [
    row.peer,
    row.address,
    String(row.asn),
    dash(row.speaker),
    row.state ?? 'no session reported',
    row.sinceMs === undefined ? '-' : formatDuration(row.sinceMs),
    row.prefixes === undefined ? '-' : String(row.prefixes),
  ];
}

/** `berth status` for people: three tables, one blank line apart. */
export function renderStatus(status: Status): string {
  return [
    renderTable(
      ['POOL', 'MODE', 'FAMILY', 'TOTAL', 'IN USE', 'FREE', 'NOTE'],
      status.pools.map(poolCells),
      '(no IPPool on the bus)',
    ),
    renderTable(
      ['SERVICE', 'VIP', 'POOL', 'MODE', 'NEXT HOPS / OWNER', 'NOTE'],
      status.services.map(serviceCells),
      '(no Service of Berth’s on the bus)',
    ),
    renderTable(
      ['PEER', 'ADDRESS', 'ASN', 'SPEAKER', 'STATE', 'SINCE', 'PREFIXES'],
      status.peers.map(peerCells),
      '(no BGPPeer on the bus)',
    ),
  ].join('\n\n');
}
