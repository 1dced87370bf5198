import type http from 'node:http';
import type { IScheduleRouterOptions } from 'express-ischedule';

export interface Served {
  readonly port: number;
  close(): Promise<void>;
}
export declare function exchange(
  api: typeof import('express-ischedule'),
  serve: (options: IScheduleRouterOptions<string>) => Promise<Served>,
): Promise<string>;
export declare function listen(httpModule: typeof http, listener: http.RequestListener): Promise<Served>;
