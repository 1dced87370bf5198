export {
  type FilesystemAdapterOptions,
  type FilesystemUser,
  filesystemAdapter,
  readBusyPeriods,
  userDirectory,
  writeInbox,
} from './filesystem.js';
