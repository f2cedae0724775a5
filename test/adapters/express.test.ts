import express from 'express'
import { defineExpressSuite } from './express-suite.js'

defineExpressSuite('Express 5', express)
