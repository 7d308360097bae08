import { MemoryStorage } from '../../lib/storage/memory-storage';
import { describeStorageContract } from '../../lib/testing';

describeStorageContract('MemoryStorage', async () => ({ storage: new MemoryStorage() }));
