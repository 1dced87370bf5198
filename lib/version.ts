/** The package's version, sent in User-Agent and printed by `ischedule --version` (a spec keeps it equal to package.json's). */
export const VERSION = '0.1.0';
