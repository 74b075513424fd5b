import type { PeerSessionSnapshot } from '@berth/contracts';
import type { BGPPeerObject, PeerSession } from '../snapshots/objects.js';

/** The sessions a BGPPeer's status should list (by speaker), or undefined when it already does. */
export function decidePeerStatus(
  peer: BGPPeerObject,
  sessions: Iterable<PeerSessionSnapshot>,
): PeerSession[] | undefined {
  const wanted = [...sessions]
    .filter((s) => s.peer === peer.metadata.name)
    .sort((a, b) => a.speaker.localeCompare(b.speaker))
    .map(({ speaker, state, since, prefixesAnnounced, message }) => ({
      speaker,
      state,
      since,
      prefixesAnnounced,
      ...(message === undefined ? {} : { message }),
    }));
  const current = [...(peer.status?.sessions ?? [])].sort((a, b) => a.speaker.localeCompare(b.speaker));
  return JSON.stringify(current) === JSON.stringify(wanted) ? undefined : wanted;
}
