/** Every answer on the receiver's paths carries the iSchedule headers, errors included. */
import type { Response } from 'express';
import { buildError } from '../xml/response.js';

const XML_TYPE = 'application/xml; charset=utf-8';

export function setIScheduleHeaders(res: Response, serialNumber: number): void {
  res.setHeader('iSchedule-Version', '1.0');
  res.setHeader('iSchedule-Capabilities', String(serialNumber));
}

export function sendXml(res: Response, status: number, xml: string): void {
  res.status(status).setHeader('Content-Type', XML_TYPE);
  res.end(xml);
}

export function sendError(res: Response, status: number, code: string, description: string): void {
  sendXml(res, status, buildError(code, description));
}
