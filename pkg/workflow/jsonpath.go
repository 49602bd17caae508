package workflow

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file evaluates the JSONPath subset the workflow's ASL uses: "$",
// "$.a.b" on the state input, "$$.a.b" on the context object, an array
// index ("$[0].a", a Parallel state's result), the intrinsic
// States.MathAdd(path, integer), and ResultPath "$.a.b".
// Values are what encoding/json decodes into an any (numbers float64).

// aslError is an ASL error: a name that Retry and Catch match, and a
// cause.
type aslError struct {
	Name  string
	Cause string
}

// Error returns "name: cause".
func (e *aslError) Error() string { return e.Name + ": " + e.Cause }

// runtimeError is a States.Runtime error (a path that selects nothing, a
// value of the wrong type).
func runtimeError(format string, args ...any) *aslError {
	return &aslError{Name: "States.Runtime", Cause: fmt.Sprintf(format, args...)}
}

// splitPath splits "$.a.b" (or "$$.a.b" when ctx) into its fields.
func splitPath(path string) (fields []string, ctx bool, err error) {
	root := "$"
	if strings.HasPrefix(path, "$$") {
		root, ctx = "$$", true
	}
	rest, ok := strings.CutPrefix(path, root)
	if !ok {
		return nil, false, fmt.Errorf("path %q does not start with $", path)
	}
	bad := fmt.Errorf("path %q: only $.field.field and $[n] paths are supported", path)
	for rest != "" {
		if r, ok := strings.CutPrefix(rest, "["); ok {
			n, after, ok := strings.Cut(r, "]")
			if _, err := strconv.Atoi(n); !ok || err != nil || strings.HasPrefix(n, "-") {
				return nil, false, bad
			}
			fields = append(fields, "["+n+"]")
			rest = after
			continue
		}
		r, ok := strings.CutPrefix(rest, ".")
		if !ok {
			return nil, false, bad
		}
		end := strings.IndexAny(r, ".[")
		if end < 0 {
			end = len(r)
		}
		f := r[:end]
		if f == "" || strings.ContainsAny(f, "]*'\"()@?") {
			return nil, false, bad
		}
		fields = append(fields, f)
		rest = r[end:]
	}
	return fields, ctx, nil
}

// index returns the array index a path segment "[n]" names.
func index(segment string) (int, bool) {
	n, ok := strings.CutPrefix(segment, "[")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSuffix(n, "]"))
	return i, err == nil
}

// lookup returns the value path selects in input (or in context for
// "$$" paths).
func lookup(path string, input, context any) (any, error) {
	fields, ctx, err := splitPath(path)
	if err != nil {
		return nil, runtimeError("%v", err)
	}
	v := input
	if ctx {
		v = context
	}
	for _, f := range fields {
		if i, ok := index(f); ok {
			arr, ok := v.([]any)
			if !ok || i >= len(arr) {
				return nil, runtimeError("invalid path %q: no element %s", path, f)
			}
			v = arr[i]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, runtimeError("invalid path %q: %q is not in an object", path, f)
		}
		if v, ok = obj[f]; !ok {
			return nil, runtimeError("invalid path %q: no field %q", path, f)
		}
	}
	return v, nil
}

// setPath returns input with value placed at path (a ResultPath); "$"
// replaces the input. Objects on the way are copied, never modified.
func setPath(input any, path string, value any) (any, error) {
	fields, ctx, err := splitPath(path)
	if err != nil || ctx {
		return nil, runtimeError("invalid ResultPath %q", path)
	}
	return setFields(input, fields, value, path)
}

func setFields(v any, fields []string, value any, path string) (any, error) {
	if len(fields) == 0 {
		return value, nil
	}
	if _, ok := index(fields[0]); ok {
		return nil, runtimeError("ResultPath %q: array indexes are not supported", path)
	}
	var obj map[string]any
	switch x := v.(type) {
	case map[string]any:
		obj = make(map[string]any, len(x)+1)
		for k, e := range x {
			obj[k] = e
		}
	case nil:
		obj = map[string]any{}
	default:
		return nil, runtimeError("ResultPath %q: cannot add a field to a %T", path, v)
	}
	child, err := setFields(obj[fields[0]], fields[1:], value, path)
	if err != nil {
		return nil, err
	}
	obj[fields[0]] = child
	return obj, nil
}

// evalTemplate evaluates a Parameters, ResultSelector or Result template:
// a key ending in ".$" takes the value its path (or intrinsic) selects;
// other values are copied, objects recursively.
func evalTemplate(tmpl map[string]any, input, context any) (map[string]any, error) {
	out := make(map[string]any, len(tmpl))
	for k, v := range tmpl {
		if name, ok := strings.CutSuffix(k, ".$"); ok {
			expr, ok := v.(string)
			if !ok {
				return nil, runtimeError("field %q: want a path string, got %T", k, v)
			}
			val, err := evalExpr(expr, input, context)
			if err != nil {
				return nil, err
			}
			out[name] = val
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			val, err := evalTemplate(sub, input, context)
			if err != nil {
				return nil, err
			}
			out[k] = val
			continue
		}
		out[k] = v
	}
	return out, nil
}

// evalExpr evaluates a path or States.MathAdd(path, integer).
func evalExpr(expr string, input, context any) (any, error) {
	args, ok := strings.CutPrefix(expr, "States.MathAdd(")
	if !ok {
		return lookup(expr, input, context)
	}
	args, ok = strings.CutSuffix(args, ")")
	a, b, ok2 := strings.Cut(args, ",")
	if !ok || !ok2 {
		return nil, runtimeError("intrinsic %q: want States.MathAdd(path, integer)", expr)
	}
	v, err := lookup(strings.TrimSpace(a), input, context)
	if err != nil {
		return nil, err
	}
	x, err := integer(v)
	if err != nil {
		return nil, runtimeError("intrinsic %q: %v", expr, err)
	}
	y, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return nil, runtimeError("intrinsic %q: %v", expr, err)
	}
	return float64(x + y), nil
}

// integer returns v as an int if it is an integral number.
func integer(v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%v is not an integer", v)
	}
	return int(f), nil
}

// toValue sends v through JSON, giving the generic value a Lambda result
// or a task result would be.
func toValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}
