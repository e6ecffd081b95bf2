import { describeSlowReader } from './fixtures/slow-reader';

// The same through a respond transform (the bandwidth plugin's throttle, set high enough not to bind).
describeSlowReader('shaped');
