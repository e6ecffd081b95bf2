export * from '@switchyard/core';
