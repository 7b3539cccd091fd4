import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../lib/api/client';

export type Note = Schemas['NotePublic'];
export interface NoteFilters {
  tag?: string;
  pinned?: boolean;
}

export const noteKeys = {
  all: ['notes'] as const,
  list: (filters: NoteFilters) => ['notes', 'list', filters] as const,
};

export function useNotes(filters: NoteFilters) {
  return useInfiniteQuery({
    queryKey: noteKeys.list(filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/api/notes', { params: { query: { limit: 50, cursor: pageParam, ...filters } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function useCreateNote() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['NoteCreate']) => unwrap(api.POST('/api/notes', { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: noteKeys.all }),
  });
}

export function useUpdateNote() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas['NoteUpdate'] }) =>
      unwrap(api.PATCH('/api/notes/{note_id}', { params: { path: { note_id: id } }, body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: noteKeys.all }),
  });
}

export function useDeleteNote() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/notes/{note_id}', { params: { path: { note_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: noteKeys.all }),
  });
}
