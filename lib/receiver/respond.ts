/** Every answer on the receiver's paths carries the iSchedule headers, errors included. */
import { buildError } from '../xml/response.js';
import type { OutgoingResponse } from './handler.js';

const XML_TYPE = 'application/xml; charset=utf-8';

export function setIScheduleHeaders(res: OutgoingResponse, serialNumber: number): void {
  res.setHeader('iSchedule-Version', '1.0');
  res.setHeader('iSchedule-Capabilities', String(serialNumber));
}

export function sendXml(res: OutgoingResponse, status: number, xml: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', XML_TYPE);
  res.end(xml);
}

export function sendError(res: OutgoingResponse, status: number, code: string, description: string): void {
  sendXml(res, status, buildError(code, description));
}

/** A short plain-text answer (404, 405, a malformed URL): no stack, no file paths. */
export function sendText(res: OutgoingResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${text}\n`);
}
