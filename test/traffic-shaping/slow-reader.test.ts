import { describeSlowReader } from './fixtures/slow-reader';

// A 200 MB response read at 50 MB/s straight through the HTTP forwarder.
describeSlowReader('plain');
