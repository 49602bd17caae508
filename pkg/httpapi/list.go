package httpapi

// List is the body of every list the API answers: {items, nextCursor}.
// items is never null; nextCursor is absent on the last page.
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"nextCursor,omitempty"`
}

// ListOf maps one page of stored items to its answer with view.
func ListOf[S, T any](items []S, next string, view func(S) T) List[T] {
	out := List[T]{Items: make([]T, 0, len(items)), Next: next}
	for _, it := range items {
		out.Items = append(out.Items, view(it))
	}
	return out
}
