/** eventId, userId, seatId: they become Redis key parts (CONTRACT §2). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const ID_PATTERN_SOURCE = ID_PATTERN.source;
export const ID_MESSAGE = 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
