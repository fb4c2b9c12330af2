/** Exit codes of every command. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
/** Bad configuration or usage: nothing was started. */
export const EXIT_CONFIG = 2
