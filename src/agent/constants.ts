/** After publishing `leave`, wait this long so the message leaves the socket before we hang up. */
export const LEAVE_FLUSH_MS = 150
