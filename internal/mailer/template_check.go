package mailer

import (
	"fmt"
	"slices"
	"strings"
	"text/template/parse"
)

// checkNodes walks a template's parse tree and returns what is wrong with
// it, or "". It looks at every branch, not only those the sample data takes,
// so that a template that passes validation cannot fail to render for one
// person: unknown placeholders, fields of placeholders ({{.Link.Foo}}: every
// placeholder is text) and calls that fail whatever the data are found here
// rather than by executing.
func checkNodes(root *parse.ListNode) string {
	var problem string
	var walk func(parse.Node)
	walk = func(node parse.Node) {
		if problem != "" {
			return
		}
		switch n := node.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for i, c := range n.Cmds {
				if problem = checkCall(c, i > 0); problem != "" {
					return
				}
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			problem = "{{range}} is not supported"
		case *parse.TemplateNode:
			problem = "{{template}} is not supported"
		case *parse.ChainNode:
			problem = fmt.Sprintf("{{%s}} is not supported: placeholders are text and have no fields; write them as {{.FirstName}}", n)
		case *parse.FieldNode:
			problem = checkField(n.Ident)
		case *parse.VariableNode:
			switch {
			case n.Ident[0] == "$" && len(n.Ident) > 1:
				problem = checkField(n.Ident[1:])
			case len(n.Ident) > 1:
				problem = fmt.Sprintf("{{%s}}: a variable holds text and has no fields; use the placeholders, as in {{.%s}}",
					n, n.Ident[len(n.Ident)-1])
			}
		case *parse.IdentifierNode:
			if !allowedFuncs[n.Ident] {
				problem = fmt.Sprintf("function %q is not supported", n.Ident)
			}
		}
	}
	walk(root)
	return problem
}

// checkField checks a placeholder reference such as ["FirstName"].
func checkField(ident []string) string {
	if !slices.Contains(Placeholders, ident[0]) {
		known := make([]string, len(Placeholders))
		for i, p := range Placeholders {
			known[i] = "{{." + p + "}}"
		}
		return fmt.Sprintf("unknown placeholder {{.%s}}; use %s", strings.Join(ident, "."), strings.Join(known, " "))
	}
	if len(ident) > 1 {
		return fmt.Sprintf("{{.%s}}: placeholders are text and have no fields or methods; write {{.%s}}",
			strings.Join(ident, "."), ident[0])
	}
	return ""
}

// funcArgs is how many arguments each of allowedFuncs takes: at least min, at most max
// (-1: no limit). text/template checks this only when a call runs.
var funcArgs = map[string]struct{ min, max int }{
	"and": {1, -1}, "or": {1, -1}, "not": {1, 1}, "eq": {2, -1}, "ne": {2, 2},
}

// checkCall refuses a command that fails whenever it runs, which in a branch the sample
// data skips would be when a real invitation is rendered: a function with the wrong number
// of arguments or without parentheses where it is an argument, arguments given to a value,
// and eq or ne comparing text with a number, true, false or nil. piped says the command
// follows a |, which passes it one more argument.
func checkCall(c *parse.CommandNode, piped bool) string {
	for _, a := range c.Args[1:] {
		if id, ok := a.(*parse.IdentifierNode); ok {
			return fmt.Sprintf("{{%s}}: put the call of %s in parentheses with its arguments, as in (eq .FirstName \"Bob\")", c, id.Ident)
		}
	}
	id, ok := c.Args[0].(*parse.IdentifierNode)
	if !ok {
		if piped || len(c.Args) > 1 {
			return fmt.Sprintf("{{%s}}: only a function (and, or, not, eq, ne) takes arguments", c)
		}
		return ""
	}
	want, ok := funcArgs[id.Ident]
	if !ok {
		return "" // checkNodes reports the function
	}
	n := len(c.Args) - 1
	if piped {
		n++
	}
	if n < want.min || want.max >= 0 && n > want.max {
		takes := fmt.Sprintf("at least %d arguments", want.min)
		switch {
		case want.min == 1 && want.max == 1:
			takes = "1 argument"
		case want.min == want.max:
			takes = fmt.Sprintf("%d arguments", want.min)
		}
		return fmt.Sprintf("{{%s}}: %s takes %s, not %d", c, id.Ident, takes, n)
	}
	if id.Ident == "eq" || id.Ident == "ne" {
		for _, a := range c.Args[1:] {
			switch a.(type) {
			case *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
				return fmt.Sprintf("{{%s}} compares with %s: placeholders are text, so compare them with text in double quotes, as in (eq .FirstName \"Bob\")", c, a)
			}
		}
	}
	return ""
}

// checkLink reports whether a template writes {{.Link}} at its top level, and what is wrong
// with any other use of the link. The link must not depend on the data, so .Link may appear
// only on its own, as {{.Link}}, outside every {{if}} and {{with}}: then every invitation
// that renders carries it.
func checkLink(root *parse.ListNode) (topLevel bool, problem string) {
	var walk func(n parse.Node, nested bool)
	walk = func(node parse.Node, nested bool) {
		if problem != "" {
			return
		}
		switch n := node.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c, nested)
			}
		case *parse.ActionNode:
			switch {
			case !bareLink(n.Pipe):
				if usesLink(n.Pipe) {
					problem = linkProblem(n.Pipe, nested)
				}
			case nested:
				problem = linkProblem(n.Pipe, nested)
			default:
				topLevel = true
			}
		case *parse.IfNode:
			walk(&n.BranchNode, nested)
		case *parse.WithNode:
			walk(&n.BranchNode, nested)
		case *parse.BranchNode:
			if usesLink(n.Pipe) {
				problem = fmt.Sprintf("{{%s}}: the activation link must not decide what an invitation says; write it on its own, as {{.Link}}", n.Pipe)
				return
			}
			walk(n.List, true)
			walk(n.ElseList, true)
		}
	}
	walk(root, false)
	return topLevel, problem
}

func linkProblem(p *parse.PipeNode, nested bool) string {
	if nested {
		return fmt.Sprintf("{{%s}} is inside {{if}} or {{with}}: the activation link must reach every invitation, so write {{.Link}} outside them", p)
	}
	return fmt.Sprintf("{{%s}}: write the activation link on its own, as {{.Link}}", p)
}

// bareLink reports whether p is {{.Link}} (or {{$.Link}}) and nothing else.
func bareLink(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return slices.Equal(a.Ident, []string{"Link"})
	case *parse.VariableNode:
		return slices.Equal(a.Ident, []string{"$", "Link"})
	}
	return false
}

// usesLink reports whether .Link appears anywhere in p.
func usesLink(p *parse.PipeNode) bool {
	var found bool
	var walk func(parse.Node)
	walk = func(node parse.Node) {
		switch n := node.(type) {
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.FieldNode:
			found = found || n.Ident[0] == "Link"
		case *parse.VariableNode:
			found = found || len(n.Ident) > 1 && n.Ident[0] == "$" && n.Ident[1] == "Link"
		}
	}
	walk(p)
	return found
}
